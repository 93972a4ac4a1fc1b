"""Convert wind speed readings from the Heron stations."""


def knots_to_kmh(knots: float) -> float:
    """Return the speed in kilometres per hour; one knot is 1.852 km/h."""
    return knots * 1.852
