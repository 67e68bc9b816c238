package dev.asyncdiff.bench;

import dev.asyncdiff.api.AsyncConfig;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One configuration to time: {@code sequential} (the whole denoiser on one device, one thread),
 * {@code sequential-tK} (the same with K intra-op threads), or {@code nNsS[wW]} (AsyncDiff with N
 * components, stride S and W warm-up steps, default 1, one thread per device; a trailing {@code c}, as in
 * {@code n2s1c}, balances the split on unit times measured on the first device instead of the FLOP estimate).
 * With a {@code cfg2} prefix the same runs CFG-parallel: the unconditional and conditional halves of the
 * guidance batch on two device groups ({@code cfg2} alone: sequential, one device per group;
 * {@code cfg2-n2s1}: AsyncDiff N=2 in each group, four devices).
 *
 * @param name           the configuration as written
 * @param sequential     whether it runs the {@code sequential} strategy
 * @param async          the asynchronous settings ({@link AsyncConfig#SEQUENTIAL} for sequential ones)
 * @param intraOpThreads intra-op threads per session
 * @param calibrated     whether the split balances measured unit times ({@code c} suffix)
 * @param guidanceGroups 1, or 2 for CFG-parallel
 */
public record BenchConfig(String name, boolean sequential, AsyncConfig async, int intraOpThreads, boolean calibrated,
                          int guidanceGroups) {
    private static final Pattern SEQUENTIAL = Pattern.compile("sequential(?:-t(\\d+))?");
    private static final Pattern ASYNC = Pattern.compile("n(\\d+)s([12])(?:w(\\d+))?(c)?");
    private static final String CFG_PARALLEL = "cfg2";

    public BenchConfig {
        if (guidanceGroups != 1 && guidanceGroups != 2) {
            throw new IllegalArgumentException("guidance groups must be 1 or 2, was " + guidanceGroups);
        }
    }

    /** A configuration with the guidance batch in one group. */
    public BenchConfig(String name, boolean sequential, AsyncConfig async, int intraOpThreads, boolean calibrated) {
        this(name, sequential, async, intraOpThreads, calibrated, 1);
    }

    /** The devices it runs on. */
    public int devices() {
        return (sequential() ? 1 : async.devicesRequired()) * guidanceGroups;
    }

    /**
     * Parses a configuration name.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static BenchConfig parse(String text) {
        String name = text.trim();
        if (name.equals(CFG_PARALLEL)) {
            return new BenchConfig(name, true, AsyncConfig.SEQUENTIAL, 1, false, 2);
        }
        String rest = name.startsWith(CFG_PARALLEL + "-") ? name.substring(CFG_PARALLEL.length() + 1) : name;
        int groups = rest.equals(name) ? 1 : 2;
        Matcher sequential = SEQUENTIAL.matcher(rest);
        if (sequential.matches()) {
            int threads = sequential.group(1) == null ? 1 : Integer.parseInt(sequential.group(1));
            if (threads < 1) {
                throw new IllegalArgumentException("'" + name + "': thread count must be >= 1");
            }
            return new BenchConfig(name, true, AsyncConfig.SEQUENTIAL, threads, false, groups);
        }
        Matcher async = ASYNC.matcher(rest);
        if (async.matches()) {
            int warmUp = async.group(3) == null ? 1 : Integer.parseInt(async.group(3));
            return new BenchConfig(name, false, new AsyncConfig(Integer.parseInt(async.group(1)),
                    Integer.parseInt(async.group(2)), warmUp, false), 1, async.group(4) != null, groups);
        }
        throw new IllegalArgumentException("unknown benchmark configuration '" + name
                + "'; expected sequential, sequential-tK (K intra-op threads), nNsS[wW][c] (e.g. n2s1, n3s2w4, n2s1c), "
                + "or cfg2 / cfg2-nNsS[wW][c] (CFG-parallel on two device groups)");
    }
}
