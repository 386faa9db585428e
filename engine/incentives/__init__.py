"""Subsidies and incentives (CONTRACT.md §9): the working-day calendar, subsidy rules, incentive policies and tiers."""
