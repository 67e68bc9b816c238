package dev.asyncdiff.api;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A device that holds tensors and runs sessions, written {@code kind:index}: {@code cpu:N} (a logical
 * CPU worker, N = 0, 1, …), {@code cuda:N} (GPU N), or any other kind a backend understands (e.g.
 * {@code trt:0}, a remote rank). Kinds are open: the backend that opens a device says whether it
 * runs on it.
 *
 * @param kind  lower-case letters, digits, {@code _} or {@code -}, starting with a letter
 * @param index the device's index within its kind, &ge; 0
 */
public record Device(String kind, int index) {
    /** The kind of logical CPU workers. */
    public static final String CPU_KIND = "cpu";
    /** The kind of CUDA GPUs. */
    public static final String CUDA_KIND = "cuda";
    private static final Pattern KIND = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    private static final Pattern SYNTAX = Pattern.compile("([a-z][a-z0-9_-]{0,31})(?::(\\d{1,4}))?");

    /** The first CPU device. */
    public static final Device CPU = new Device(CPU_KIND, 0);

    public Device {
        if (kind == null || !KIND.matcher(kind).matches()) {
            throw new IllegalArgumentException("invalid device kind '" + kind
                    + "'; expected lower-case letters, digits, _ or -, starting with a letter (e.g. cpu, cuda)");
        }
        if (index < 0) {
            throw new IllegalArgumentException("device index must be >= 0, was " + index);
        }
    }

    /** Logical CPU worker {@code index}. */
    public static Device cpu(int index) {
        return new Device(CPU_KIND, index);
    }

    /** CUDA GPU {@code index}. */
    public static Device cuda(int index) {
        return new Device(CUDA_KIND, index);
    }

    /** Whether this is a logical CPU worker (host memory, no copies between devices). */
    public boolean isCpu() {
        return kind.equals(CPU_KIND);
    }

    /**
     * Parses {@code kind:N}, e.g. {@code cpu:0} or {@code cuda:1}; a bare kind means index 0. Case and
     * surrounding blanks are ignored.
     *
     * @throws IllegalArgumentException naming the text and the accepted form
     */
    public static Device parse(String text) {
        String trimmed = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Matcher matcher = SYNTAX.matcher(trimmed);
        if (!matcher.matches()) {
            throw new IllegalArgumentException("invalid device '" + text
                    + "'; expected KIND:N with N a non-negative integer, e.g. cpu:0 or cuda:1");
        }
        int index = matcher.group(2) == null ? 0 : Integer.parseInt(matcher.group(2));
        return new Device(matcher.group(1), index);
    }

    @Override
    public String toString() {
        return kind + ":" + index;
    }
}
