package dev.asyncdiff.tck;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outcome of one check.
 *
 * @param check   the check
 * @param status  passed, failed or skipped
 * @param message why it failed or was skipped, or a summary when it passed
 * @param figures what it measured, by name (errors, PSNRs, times), in the order measured
 * @param curves  per-step measurements, by name in the order measured (e.g. the relative distance of the
 *                latents between an asynchronous and the sequential run after each step), for the report's plot
 */
public record CheckResult(Check check, Status status, String message, Map<String, Object> figures,
                          Map<String, List<Double>> curves) {
    /** The outcome of a check. */
    public enum Status {
        PASSED, FAILED, SKIPPED
    }

    public CheckResult {
        figures = Collections.unmodifiableMap(new LinkedHashMap<>(figures));
        Map<String, List<Double>> copied = new LinkedHashMap<>();
        curves.forEach((name, values) -> copied.put(name, List.copyOf(values)));
        curves = Collections.unmodifiableMap(copied);
    }

    /** A result without per-step curves. */
    public CheckResult(Check check, Status status, String message, Map<String, Object> figures) {
        this(check, status, message, figures, Map.of());
    }
}
