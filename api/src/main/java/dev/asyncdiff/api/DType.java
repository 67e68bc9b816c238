package dev.asyncdiff.api;

import java.util.Arrays;
import java.util.Locale;

/** Element types a {@link Tensor} can hold, with their size in bytes. */
public enum DType {
    FP32(4, true, "float32", "float", "fp32"),
    FP16(2, true, "float16", "half", "fp16"),
    BF16(2, true, "bfloat16", "bf16"),
    INT64(8, false, "int64", "long"),
    INT32(4, false, "int32", "int"),
    BOOL(1, false, "bool"),
    UINT8(1, false, "uint8");

    private final int byteSize;
    private final boolean floatingPoint;
    private final String[] aliases;

    DType(int byteSize, boolean floatingPoint, String... aliases) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
        this.aliases = aliases;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether the type holds floating-point numbers. */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /**
     * Parses a dtype name such as {@code fp16}, {@code float32} or {@code INT64}, case-insensitively.
     *
     * @throws IllegalArgumentException naming the accepted names when {@code name} is none of them
     */
    public static DType parse(String name) {
        String wanted = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (DType type : values()) {
            if (type.name().toLowerCase(Locale.ROOT).equals(wanted)
                    || Arrays.asList(type.aliases).contains(wanted)) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "'; expected one of "
                + Arrays.toString(values()).toLowerCase(Locale.ROOT));
    }
}
