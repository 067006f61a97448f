"""helicone_nb: Helicone sessions straight into typed pandas DataFrames."""
