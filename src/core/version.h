/*
 * The project's one version string.  skipctl --version prints it, the
 * module writes it into its "connected to Redis" log line, and the Debian
 * packages take their version from it (scripts/deb.sh reads this line).
 */
#ifndef SKIP_VERSION_H
#define SKIP_VERSION_H

#define SK_VERSION "0.1.0"

#endif
