/*
 * rkc_vitals — vital signs as people type and read them:
 *
 *     bt=36.8,bp=112/68,p=88,spo2=95,rr=18     (what `renkei post --vitals` takes)
 *     BT 36.8 / BP 112/68 / P 88 / SpO2 95% / RR 18   (what the CLI prints)
 *
 * The parser checks the *form* only: known keys (bt, bp, p, spo2, rr;
 * pulse and hr are accepted for p), each at most once, whole numbers (bt
 * with at most one decimal), bp as SYSTOLIC/DIASTOLIC, nothing zero (0
 * means "not measured" on the wire: leave the key out instead). Whether a
 * reading is plausible (SpO2 at most 100, diastolic below systolic, ...)
 * is the server's to say, in one place, with the field at fault.
 *
 * Pure: no I/O, no allocation. Internal to client-cli (the CLI and the
 * unit tests).
 */
#ifndef RKC_VITALS_H
#define RKC_VITALS_H

#include <stddef.h>

#include "renkei.pb-c.h"

/* Parse s into *v (which is initialised first). Returns 0, or -1 with a
 * static description of the first problem in *err_desc (if err_desc is
 * not NULL), e.g. "bp must be SYSTOLIC/DIASTOLIC, e.g. bp=112/68". */
int rkc_vitals_parse(const char *s, Renkei__V1__Vitals *v, const char **err_desc);

/* 1 if v is NULL or has no reading at all, else 0. */
int rkc_vitals_empty(const Renkei__V1__Vitals *v);

/* Write the readings of v (NULL ok) as "BT 36.8 / BP 112/68 / P 88 /
 * SpO2 95% / RR 18", measured ones only, into buf (always terminated if
 * len > 0). A blood pressure with one side missing shows it as "?".
 * Returns the length the whole summary needs (as snprintf does); 0 when
 * nothing was measured. */
size_t rkc_vitals_format(const Renkei__V1__Vitals *v, char *buf, size_t len);

#endif
