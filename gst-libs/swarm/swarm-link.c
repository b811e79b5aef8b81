/* placeholder: being written */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "swarm-link.h"
G_DEFINE_QUARK (swarm-link-error-quark, swarm_link_error)
