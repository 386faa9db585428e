"""The demo's sample data: a realistic month of partner-programme events
(`generate_month`), deterministic for its arguments. `commands.demo` ingests and shows it."""

from commands.demo_data.month import USAGE_PER_CUSTOMER, generate_month

__all__ = ["USAGE_PER_CUSTOMER", "generate_month"]
