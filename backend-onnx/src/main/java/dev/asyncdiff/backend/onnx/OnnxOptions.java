package dev.asyncdiff.backend.onnx;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.spi.BackendOptions;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The {@code onnx} backend's options, parsed from {@link BackendOptions#options()}.
 *
 * <table>
 *   <caption>Option keys</caption>
 *   <tr><th>key</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>{@value #INTRA_OP_THREADS}</td><td>threads one CPU session uses inside an operator
 *       (0 = ONNX Runtime's choice, one per physical core)</td><td>1 when several {@code cpu:N}
 *       devices are configured, else 0</td></tr>
 *   <tr><td>{@value #INTER_OP_THREADS}</td><td>threads running independent operators in
 *       parallel (0 = ONNX Runtime's choice)</td><td>0</td></tr>
 *   <tr><td>{@value #OPTIMIZATION_LEVEL}</td><td>graph optimizations: {@code none},
 *       {@code basic}, {@code extended} or {@code all}</td><td>{@code all}</td></tr>
 *   <tr><td>{@value #DISABLE_CPU_FALLBACK}</td><td>{@code true} makes loading a model on a
 *       {@code cuda:N} device fail unless every node runs on the CUDA execution provider (no
 *       silent fallback to the CPU)</td><td>{@code false}</td></tr>
 *   <tr><td>{@value #CPU_ARENA}</td><td>{@code false} turns off ONNX Runtime's CPU memory arena, so a
 *       session's buffers go back to the allocator after each run instead of staying pooled per session
 *       (less resident memory for long-running services, a little slower)</td><td>{@code true}</td></tr>
 * </table>
 *
 * @param intraOpThreads intra-op threads per session, 0 for ONNX Runtime's default
 * @param interOpThreads inter-op threads per session, 0 for ONNX Runtime's default
 * @param optimizationLevel the graph optimization level
 * @param disableCpuFallback whether CUDA sessions must run every node on the GPU
 * @param cpuArena whether CPU sessions pool their memory in ONNX Runtime's arena
 */
public record OnnxOptions(int intraOpThreads, int interOpThreads, OptLevel optimizationLevel,
        boolean disableCpuFallback, boolean cpuArena) {
    /** Option key: intra-op threads per session. */
    public static final String INTRA_OP_THREADS = "intraOpThreads";
    /** Option key: inter-op threads per session. */
    public static final String INTER_OP_THREADS = "interOpThreads";
    /** Option key: graph optimization level. */
    public static final String OPTIMIZATION_LEVEL = "optimizationLevel";
    /** Option key: forbid the CPU fallback of CUDA sessions. */
    public static final String DISABLE_CPU_FALLBACK = "disableCpuFallback";
    /** Option key: ONNX Runtime's CPU memory arena on or off. */
    public static final String CPU_ARENA = "cpuArena";

    private static final List<String> KEYS = List.of(INTRA_OP_THREADS, INTER_OP_THREADS, OPTIMIZATION_LEVEL,
            DISABLE_CPU_FALLBACK, CPU_ARENA);
    private static final Map<String, OptLevel> LEVELS = Map.of(
            "none", OptLevel.NO_OPT,
            "basic", OptLevel.BASIC_OPT,
            "extended", OptLevel.EXTENDED_OPT,
            "all", OptLevel.ALL_OPT);

    /**
     * Validates the values.
     *
     * @throws IllegalArgumentException naming the option when a thread count is negative
     */
    public OnnxOptions {
        requireNonNegative(INTRA_OP_THREADS, intraOpThreads);
        requireNonNegative(INTER_OP_THREADS, interOpThreads);
        if (optimizationLevel == null) {
            throw new IllegalArgumentException("backend option '" + OPTIMIZATION_LEVEL + "' must not be null");
        }
    }

    /**
     * Parses the options for the devices in {@code options}; absent keys take their defaults.
     *
     * @throws IllegalArgumentException naming the option and the accepted values for an unknown
     *                                  key or a bad value
     */
    public static OnnxOptions from(BackendOptions options) {
        for (String key : options.options().keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown onnx backend option '" + key + "'; expected one of " + KEYS);
            }
        }
        long cpuDevices = options.devices().stream().filter(Device::isCpu).count();
        int defaultIntraOp = cpuDevices > 1 ? 1 : 0;
        return new OnnxOptions(
                options.intOption(INTRA_OP_THREADS, defaultIntraOp),
                options.intOption(INTER_OP_THREADS, 0),
                parseLevel(options.options().get(OPTIMIZATION_LEVEL)),
                parseBoolean(DISABLE_CPU_FALLBACK, options.options().get(DISABLE_CPU_FALLBACK), false),
                parseBoolean(CPU_ARENA, options.options().get(CPU_ARENA), true));
    }

    private static boolean parseBoolean(String key, String value, boolean fallback) {
        if (value == null) {
            return fallback;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("backend option '" + key + "' must be true or false, was '"
                    + value + "'");
        };
    }

    private static OptLevel parseLevel(String value) {
        if (value == null) {
            return OptLevel.ALL_OPT;
        }
        OptLevel level = LEVELS.get(value.trim().toLowerCase(Locale.ROOT));
        if (level == null) {
            throw new IllegalArgumentException("backend option '" + OPTIMIZATION_LEVEL + "' must be one of "
                    + new TreeSet<>(LEVELS.keySet()) + ", was '" + value + "'");
        }
        return level;
    }

    private static void requireNonNegative(String key, int value) {
        if (value < 0) {
            throw new IllegalArgumentException("backend option '" + key + "' must be >= 0 (0 = ONNX Runtime's default), was "
                    + value);
        }
    }
}
