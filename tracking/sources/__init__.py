"""Where visits come from: UTM parameters, ad click ids and the referrer, kept per visit (a new
visit after 30 minutes of quiet or on a new campaign), with each lead's first and latest."""
