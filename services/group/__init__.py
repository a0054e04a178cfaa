"""GroupService: launch configs, groups, instances through a compute driver, scaling activities."""
