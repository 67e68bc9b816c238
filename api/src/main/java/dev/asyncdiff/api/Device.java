package dev.asyncdiff.api;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A device that holds tensors and runs sessions: {@code cpu:N} (a logical CPU worker, N = 0, 1, …)
 * or {@code cuda:N} (GPU N).
 */
public record Device(Kind kind, int index) {
    private static final Pattern SYNTAX = Pattern.compile("(cpu|cuda)(?::(\\d{1,4}))?");

    /** The kind of a device. */
    public enum Kind {
        CPU, CUDA
    }

    /** The first CPU device. */
    public static final Device CPU = new Device(Kind.CPU, 0);

    public Device {
        if (kind == null) {
            throw new IllegalArgumentException("device kind must not be null");
        }
        if (index < 0) {
            throw new IllegalArgumentException("device index must be >= 0, was " + index);
        }
    }

    /**
     * Parses {@code cpu:0}, {@code cuda:1}, …; a bare {@code cpu} or {@code cuda} means index 0.
     *
     * @throws IllegalArgumentException naming the text and the accepted form
     */
    public static Device parse(String text) {
        String trimmed = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Matcher matcher = SYNTAX.matcher(trimmed);
        if (!matcher.matches()) {
            throw new IllegalArgumentException("invalid device '" + text
                    + "'; expected cpu:N or cuda:N with N a non-negative integer, e.g. cpu:0 or cuda:1");
        }
        Kind kind = matcher.group(1).equals("cpu") ? Kind.CPU : Kind.CUDA;
        int index = matcher.group(2) == null ? 0 : Integer.parseInt(matcher.group(2));
        return new Device(kind, index);
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + ":" + index;
    }
}
