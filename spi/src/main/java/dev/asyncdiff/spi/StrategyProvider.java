package dev.asyncdiff.spi;

import dev.asyncdiff.api.ParallelStrategy;

/** Discovers a {@link ParallelStrategy}, such as {@code sequential} or {@code async}. */
public interface StrategyProvider extends Provider {
    /**
     * Loads the components the strategy needs onto their devices; the caller closes the strategy.
     *
     * @throws IllegalArgumentException when the devices do not fit the configuration
     */
    ParallelStrategy create(StrategyContext context);
}
