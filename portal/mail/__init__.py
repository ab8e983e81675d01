"""Mail as the reader sees it: templates rendered per message, signed links, the headers of
marketing mail; the send job that calls this lives in ``nurture.mail``."""
