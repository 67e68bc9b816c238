package dev.asyncdiff.spi;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ParallelStrategy;

/** Discovers a {@link ParallelStrategy}, such as {@code sequential} or {@code async}. */
public interface StrategyProvider extends Provider {
    /** A strategy for {@code config}. */
    ParallelStrategy create(AsyncConfig config);
}
