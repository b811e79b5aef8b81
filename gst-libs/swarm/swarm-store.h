#pragma once
#include "swarm-prelude.h"
