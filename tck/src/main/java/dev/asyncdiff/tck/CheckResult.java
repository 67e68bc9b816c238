package dev.asyncdiff.tck;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The outcome of one check.
 *
 * @param check   the check
 * @param status  passed, failed or skipped
 * @param message why it failed or was skipped, or a summary when it passed
 * @param figures what it measured, by name (errors, PSNRs, times), in the order measured
 */
public record CheckResult(Check check, Status status, String message, Map<String, Object> figures) {
    /** The outcome of a check. */
    public enum Status {
        PASSED, FAILED, SKIPPED
    }

    public CheckResult {
        figures = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(figures));
    }
}
