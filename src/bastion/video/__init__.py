"""Built-in video analytics (motion gate, detector, tracker, zone rules) and biometric identity."""
