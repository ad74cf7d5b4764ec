"""Emergency playbooks: a rule trigger, timed SOP steps and call-tree alerts per scenario.

Runs and drills are recorded step by step; mustering tells who is on site and who has
been accounted for; the law-enforcement packet hands the site plan to the police.
"""
