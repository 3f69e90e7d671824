"""The appraisal process: cycles, the appraisal state machine, appeals, deadlines, audit."""
