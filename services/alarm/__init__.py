"""The Alarm service: threshold alarms over metrics, their state machine and history, and their actions."""
