"""Authorization requests (CONTRACT.md §12): a partner asks a customer it is associated
with for authorization to act on its resources; the customer's answers are recorded."""
