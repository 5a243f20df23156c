"""Argument checks shared by coders and the spiking network."""


def check_time_steps(T) -> None:
    """Raise ``ValueError`` unless ``T`` is a positive integer."""
    if isinstance(T, bool) or not isinstance(T, int) or T <= 0:
        raise ValueError(f"The number of time steps T must be a positive integer, got {T!r}.")
