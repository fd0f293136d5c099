"""Training from the app (Qt-free): jobs in their own processes, time estimates, trained runs."""
