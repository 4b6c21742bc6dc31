/* summary.h - the end-of-run report on stderr (and the periodic stats record later). */
#ifndef PS_SUMMARY_H
#define PS_SUMMARY_H

#include <stdio.h>

#include "correlate.h"
#include "output.h"
#include "worker.h"

/* Writes packets, flows, anomalies by reason and detections by rule to f. */
void ps_summary_print(FILE *f, const ps_worker *w, const ps_correlator *c, const ps_output *o,
                      double seconds);

#endif
