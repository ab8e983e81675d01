"""Content intelligence for editors: gaps in the library, gate experiments, fading assets and
the buying process, from the reading data and the closed-loop milestones."""
