/* Fatal GLib log messages in fuzz targets.
 *
 * GLib ends a fatal message (a g_critical made fatal by
 * g_log_set_always_fatal(), a g_error) with a breakpoint trap, which
 * libFuzzer does not catch: the run would stop without saving the input.
 * Aborting instead lets libFuzzer write the reproducer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdlib.h>
#include <glib.h>

static GLogLevelFlags fuzz_log_fatal;

static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags level, const GLogField * fields,
    gsize n_fields, gpointer user_data)
{
  GLogWriterOutput out = g_log_writer_default (level, fields, n_fields,
      user_data);

  if (level & fuzz_log_fatal)
    abort ();
  return out;
}

/* Call first in LLVMFuzzerInitialize(), before anything logs. */
static inline void
fuzz_log_set_fatal (GLogLevelFlags levels)
{
  fuzz_log_fatal = levels | G_LOG_LEVEL_ERROR;
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
  g_log_set_always_fatal (levels);
}
