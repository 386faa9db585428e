"""The engine: event store, money rules, periods, rating, association and discount state."""
