"""The Metrics service: stores time series, answers statistics over aligned periods, tells the Alarm service of new samples."""
