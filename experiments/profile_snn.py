"""Where the SNN's time goes: a torch.profiler table of one converted Cora GCN's calls.

    GSNN_DATA_MIRROR=../shared/datasets python experiments/profile_snn.py --hidden 256 --T 8

Trains the reference 2-layer GCN (QCFS with L = T, seed 0, public split, row-normalised
features), converts it with ``--method`` and profiles ``--calls`` SNN calls without
statistics on one torch thread. Prints the ops sorted by self CPU time.
"""

import argparse

import torch
import torch_geometric.transforms as transforms
from torch.profiler import ProfilerActivity, profile

import gsnn
from gsnn.ann import GCN, train_node_classifier
from gsnn.data import planetoid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=16, help="hidden width of the GCN")
    parser.add_argument("--T", type=int, default=8, help="time steps (and QCFS levels)")
    parser.add_argument("--method", default="qcfs", help="conversion method")
    parser.add_argument("--calls", type=int, default=20, help="profiled SNN calls")
    parser.add_argument("--rows", type=int, default=15, help="ops shown")
    parser.add_argument("--root", default="datasets/", help="data root")
    parser.add_argument("--shapes", action="store_true", help="group the ops by input shape")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = planetoid("Cora", root=args.root, transform=transforms.NormalizeFeatures())
    model = GCN(
        data.num_features, args.hidden, int(data.y.max()) + 1, activation="qcfs", qcfs_levels=args.T
    )
    train_node_classifier(model, data)
    snn = gsnn.convert(model, data, method=args.method, T=args.T)
    snn.record_stats = False
    with torch.no_grad():
        for _ in range(3):
            snn(data.x, data.edge_index)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=args.shapes) as prof:
            for _ in range(args.calls):
                snn(data.x, data.edge_index)
    print(
        prof.key_averages(group_by_input_shape=args.shapes).table(
            sort_by="self_cpu_time_total", row_limit=args.rows
        )
    )


if __name__ == "__main__":
    main()
