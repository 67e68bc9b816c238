package dev.asyncdiff.spi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The registries of every provider kind: backends, model adapters, strategies, samplers and
 * communicators. Immutable and thread-safe.
 *
 * @param backends      the {@code backend} providers
 * @param adapters      the {@code adapter} providers
 * @param strategies    the {@code strategy} providers
 * @param samplers      the {@code sampler} providers
 * @param communicators the {@code communicator} providers
 */
public record ProviderCatalog(
        ProviderRegistry<BackendProvider> backends,
        ProviderRegistry<ModelAdapterProvider> adapters,
        ProviderRegistry<StrategyProvider> strategies,
        ProviderRegistry<SamplerProvider> samplers,
        ProviderRegistry<CommunicatorProvider> communicators) {

    /** One provider with its kind word ({@code backend}, {@code adapter}, {@code strategy}, {@code sampler}, …). */
    public record Entry(String kind, Provider provider) {
    }

    /** Checks that every registry is present. */
    public ProviderCatalog {
        if (backends == null || adapters == null || strategies == null || samplers == null || communicators == null) {
            throw new IllegalArgumentException("a provider catalog needs all five registries");
        }
    }

    /** A catalog without communicators (the loop then uses its in-process one). */
    public ProviderCatalog(ProviderRegistry<BackendProvider> backends, ProviderRegistry<ModelAdapterProvider> adapters,
                           ProviderRegistry<StrategyProvider> strategies, ProviderRegistry<SamplerProvider> samplers) {
        this(backends, adapters, strategies, samplers, ProviderRegistry.of("communicator", List.of()));
    }

    /**
     * Discovers every provider visible to {@code loader} with {@link java.util.ServiceLoader}.
     *
     * @throws IllegalStateException naming the provider when one cannot be instantiated
     */
    public static ProviderCatalog load(ClassLoader loader) {
        return new ProviderCatalog(
                ProviderRegistry.load("backend", BackendProvider.class, loader),
                ProviderRegistry.load("adapter", ModelAdapterProvider.class, loader),
                ProviderRegistry.load("strategy", StrategyProvider.class, loader),
                ProviderRegistry.load("sampler", SamplerProvider.class, loader),
                ProviderRegistry.load("communicator", CommunicatorProvider.class, loader));
    }

    /** Discovers every provider visible to the class loader that loaded the SPI. */
    public static ProviderCatalog load() {
        return load(ProviderCatalog.class.getClassLoader());
    }

    /** Every provider of every kind, sorted by kind word, then name. */
    public List<Entry> entries() {
        List<Entry> entries = new ArrayList<>();
        for (ProviderRegistry<?> registry : List.of(backends, adapters, strategies, samplers, communicators)) {
            for (Provider provider : registry.all()) {
                entries.add(new Entry(registry.kind(), provider));
            }
        }
        entries.sort(Comparator.comparing(Entry::kind).thenComparing(entry -> entry.provider().name()));
        return List.copyOf(entries);
    }
}
