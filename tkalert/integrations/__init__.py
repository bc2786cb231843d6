"""What plugs tkalert into a monitoring system beyond its command line (Icinga 2 and Nagios need only that)."""
