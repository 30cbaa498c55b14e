// SPDX-License-Identifier: GPL-2.0
#include "names.h"

const char *ks_band_name(enum ksense_band band)
{
	switch (band) {
	case KSENSE_BAND_LOW: return "low";
	case KSENSE_BAND_MEDIUM: return "medium";
	case KSENSE_BAND_HIGH: return "high";
	default: return "none";
	}
}

const char *ks_verdict_name(enum ksense_verdict verdict)
{
	switch (verdict) {
	case KSENSE_VERDICT_ALLOW: return "allow";
	case KSENSE_VERDICT_DENY: return "deny";
	default: return "none";
	}
}

const char *ks_reason_name(enum ksense_reason reason)
{
	switch (reason) {
	case KSENSE_REASON_LOW: return "low band";
	case KSENSE_REASON_HIGH: return "high band";
	case KSENSE_REASON_MEDIUM_LOW: return "medium, at or below medium_low_upper";
	case KSENSE_REASON_MEDIUM_BAD: return "medium, above medium_mid_upper (bad window)";
	case KSENSE_REASON_MEDIUM_MID: return "medium, between: deny only while latched";
	default: return "no score yet";
	}
}

const char *ks_baseline_name(enum ksense_baseline_state state)
{
	return state == KSENSE_BASELINE_FROZEN ? "frozen" : "warmup";
}

const char *ks_psi_source_name(enum ksense_psi_source src)
{
	return src == KSENSE_PSI_KERNEL ? "kernel" : "none";
}

const char *ks_cgroup_class_name(enum ksense_class cls)
{
	switch (cls) {
	case KSENSE_CLASS_CPU: return "CPU";
	case KSENSE_CLASS_BLOCK: return "BLOCK";
	case KSENSE_CLASS_OFFCPU: return "OFFCPU";
	case KSENSE_CLASS_THROTTLED: return "THROTTLED";
	default: return "IDLE";
	}
}

const char *ks_cause_name(enum ksense_cause cause)
{
	switch (cause) {
	case KSENSE_CAUSE_LOCK: return "LOCK";
	case KSENSE_CAUSE_DEPENDENCY: return "DEPENDENCY";
	case KSENSE_CAUSE_NETWORK: return "NETWORK";
	case KSENSE_CAUSE_DEVICE: return "DEVICE";
	case KSENSE_CAUSE_KERNEL: return "KERNEL";
	case KSENSE_CAUSE_TIMER: return "TIMER";
	default: return "NONE";
	}
}
