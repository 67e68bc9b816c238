package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.FloatFormats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Seeded deterministic parameter values. Each parameter draws from its own stream, seeded from the
 * model seed and the parameter's full name, so the same seed gives the same bytes whatever order a
 * graph is built or written in, and no parameter's values depend on another's. Values are uniform
 * with the requested standard deviation (like torch's default {@code kaiming_uniform} init), made by
 * SplitMix64 so they are the same on every JVM. Immutable and thread-safe; the suppliers allocate a
 * fresh buffer on each call, so a writer holds one parameter in memory at a time.
 */
public final class Weights {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final double SQRT3 = Math.sqrt(3.0);
    private final long seed;

    /** Weights drawn from {@code seed}. */
    public Weights(long seed) {
        this.seed = seed;
    }

    /** The model seed. */
    public long seed() {
        return seed;
    }

    /**
     * Little-endian values of a parameter, uniform in {@code [-std*sqrt(3), std*sqrt(3))}; {@code std} 0
     * gives zeros.
     *
     * @param name  the parameter's full name, e.g. {@code down_blocks.0.resnets.0.conv1.weight}
     * @param dtype FP32, FP16 or BF16
     * @param shape the parameter's dimensions
     * @param std   the standard deviation, at least 0
     * @throws IllegalArgumentException for other dtypes, a negative std or a parameter over 2 GiB
     */
    public Supplier<ByteBuffer> random(String name, DType dtype, long[] shape, double std) {
        if (!(std >= 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("std of parameter '" + name + "' must be finite and >= 0, was " + std);
        }
        int count = elementCount(name, dtype, shape);
        long start = streamSeed(seed, name);
        float halfWidth = (float) (std * SQRT3);
        return () -> {
            ByteBuffer bytes = allocate(dtype, count);
            long state = start;
            if (dtype == DType.FP32) {
                FloatBuffer floats = bytes.asFloatBuffer();
                for (int i = 0; i < count; i++) {
                    state += GOLDEN_GAMMA;
                    floats.put(i, halfWidth * unit(mix(state)));
                }
            } else {
                ShortBuffer shorts = bytes.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    state += GOLDEN_GAMMA;
                    shorts.put(i, toBits(dtype, halfWidth * unit(mix(state))));
                }
            }
            return bytes;
        };
    }

    /**
     * Little-endian values of a tensor whose every element is {@code value} (norm weights, constants).
     *
     * @throws IllegalArgumentException for dtypes other than FP32, FP16 or BF16
     */
    public static Supplier<ByteBuffer> filled(DType dtype, long[] shape, float value) {
        int count = elementCount("filled tensor", dtype, shape);
        return () -> {
            ByteBuffer bytes = allocate(dtype, count);
            if (dtype == DType.FP32) {
                FloatBuffer floats = bytes.asFloatBuffer();
                for (int i = 0; i < count; i++) {
                    floats.put(i, value);
                }
            } else {
                short bits = toBits(dtype, value);
                ShortBuffer shorts = bytes.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    shorts.put(i, bits);
                }
            }
            return bytes;
        };
    }

    /**
     * Little-endian values of a float tensor given element by element.
     *
     * @throws IllegalArgumentException for dtypes other than FP32, FP16 or BF16
     */
    public static ByteBuffer of(DType dtype, float... values) {
        ByteBuffer bytes = allocate(dtype, values.length);
        for (int i = 0; i < values.length; i++) {
            if (dtype == DType.FP32) {
                bytes.putFloat(i * Float.BYTES, values[i]);
            } else {
                bytes.putShort(i * Short.BYTES, toBits(dtype, values[i]));
            }
        }
        return bytes;
    }

    /** The stream seed of parameter {@code name} under model seed {@code seed}. */
    static long streamSeed(long seed, String name) {
        long hash = 0xCBF29CE484222325L; // FNV-1a over the UTF-8 name
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xFF;
            hash *= 0x100000001B3L;
        }
        return mix(mix(seed) ^ hash);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A float uniform in [-1, 1) from the top 24 bits. */
    private static float unit(long bits) {
        return ((bits >>> 40) * 0x1p-23f) - 1f;
    }

    private static short toBits(DType dtype, float value) {
        return dtype == DType.FP16 ? FloatFormats.floatToHalf(value) : FloatFormats.floatToBfloat16(value);
    }

    private static ByteBuffer allocate(DType dtype, int count) {
        return ByteBuffer.allocate(count * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int elementCount(String name, DType dtype, long[] shape) {
        if (dtype != DType.FP32 && dtype != DType.FP16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("parameter '" + name + "' must be FP32, FP16 or BF16, not " + dtype);
        }
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("parameter '" + name + "' has a negative dimension: "
                        + Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, dim);
        }
        if (count * dtype.byteSize() > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("parameter '" + name + "' " + Arrays.toString(shape)
                    + " is over 2 GiB; one buffer cannot hold it");
        }
        return (int) count;
    }
}
