"""The halo traffic of a partitioned network's last call, summed over its ranks."""

from typing import Dict

import torch
import torch.distributed as dist

from gsnn.distributed.partitioned_network import DistributedSpikingNetwork


def halo_traffic(ranks: DistributedSpikingNetwork) -> Dict[str, Dict]:
    """Per graph layer (in the order of the network), what crossed between the ranks before
    it in the last call, summed over the ranks of ``ranks.group`` (a collective).

    Returns:
        dict: layer name -> ``halo_nodes`` (other ranks' nodes whose rows the ranks
        receive), ``rows`` (rows sent in one exchange), ``bytes`` (payload bytes sent in
        the call, over all its chunks of steps), ``values`` (spikes or features sent in the
        last exchange, before packing: ``4 * values`` is their float32 size) and
        ``binary`` (the rows are binary spikes, sent eight to a byte). A time-constant
        input (analog) crosses once per call, spikes once per chunk of steps.
    """
    traffic = {}
    for layer, exchanges in ranks.exchanges.items():
        used = [exchange for exchange in exchanges if exchange]
        counts = torch.tensor(
            [
                used[0].halo_size,
                sum(sum(exchange.send_counts) for exchange in used),
                ranks.halo_bytes.get(layer, 0),
                sum(exchange.values_sent for exchange in used),
            ]
        )
        dist.all_reduce(counts, group=ranks.group)
        halo_nodes, rows, sent, values = counts.tolist()
        traffic[layer] = {
            "halo_nodes": halo_nodes,
            "rows": rows,
            "bytes": sent,
            "values": values,
            "binary": any(exchange.binary for exchange in used),
        }
    return traffic
