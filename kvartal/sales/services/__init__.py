"""Writers of sales, one module per area (holds, deals, payments, promotions)."""
