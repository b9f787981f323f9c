"""Reliability proof (issue 6): the loss checker and the chaos and abuse scenarios."""
