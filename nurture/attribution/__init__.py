"""Attribution: which content, sources, campaigns and programs the funnel's milestones (a lead
created, MQL, SQL, opportunity, customer; pipeline and revenue of deals) owe to, under
first-touch, last-touch, linear and W-shaped models, kept as monthly rollups."""
