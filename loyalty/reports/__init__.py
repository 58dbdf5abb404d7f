"""What the merchant reads: the programme report and member segments."""
