"""The Slack agent desk: one thread per case, claim / reply / resolve from Slack."""
