"""Personal security for workers: self-assessment, lone-worker check-ins, reports, doxing."""
