"""What a team got wrong, read-only: the check rules, the credential scan, baselines."""
