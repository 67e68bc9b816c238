package dev.asyncdiff.bench;

import dev.asyncdiff.api.AsyncConfig;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One configuration to time: {@code sequential} (the whole denoiser on one device, one thread),
 * {@code sequential-tK} (the same with K intra-op threads), or {@code nNsS[wW]} (AsyncDiff with N
 * components, stride S and W warm-up steps, default 1, one thread per device; a trailing {@code c}, as in
 * {@code n2s1c}, balances the split on unit times measured on the first device instead of the FLOP estimate).
 *
 * @param name           the configuration as written
 * @param sequential     whether it runs the {@code sequential} strategy
 * @param async          the asynchronous settings ({@link AsyncConfig#SEQUENTIAL} for sequential ones)
 * @param intraOpThreads intra-op threads per session
 * @param calibrated     whether the split balances measured unit times ({@code c} suffix)
 */
public record BenchConfig(String name, boolean sequential, AsyncConfig async, int intraOpThreads, boolean calibrated) {
    private static final Pattern SEQUENTIAL = Pattern.compile("sequential(?:-t(\\d+))?");
    private static final Pattern ASYNC = Pattern.compile("n(\\d+)s([12])(?:w(\\d+))?(c)?");

    /** The devices it runs on. */
    public int devices() {
        return sequential() ? 1 : async.devicesRequired();
    }

    /**
     * Parses a configuration name.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static BenchConfig parse(String text) {
        String name = text.trim();
        Matcher sequential = SEQUENTIAL.matcher(name);
        if (sequential.matches()) {
            int threads = sequential.group(1) == null ? 1 : Integer.parseInt(sequential.group(1));
            if (threads < 1) {
                throw new IllegalArgumentException("'" + name + "': thread count must be >= 1");
            }
            return new BenchConfig(name, true, AsyncConfig.SEQUENTIAL, threads, false);
        }
        Matcher async = ASYNC.matcher(name);
        if (async.matches()) {
            int warmUp = async.group(3) == null ? 1 : Integer.parseInt(async.group(3));
            return new BenchConfig(name, false, new AsyncConfig(Integer.parseInt(async.group(1)),
                    Integer.parseInt(async.group(2)), warmUp, false), 1, async.group(4) != null);
        }
        throw new IllegalArgumentException("unknown benchmark configuration '" + name
                + "'; expected sequential, sequential-tK (K intra-op threads) or nNsS[wW][c] (e.g. n2s1, n3s2w4, n2s1c)");
    }
}
