package dev.asyncdiff.spi;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.ProvisionException;
import jakarta.inject.Inject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A configured runtime: the {@link RuntimeConfig}, the provider registries, and a factory for the
 * selected backend. Holds no native resources itself; every {@link #openBackend()} returns a new
 * backend that the caller closes. Thread-safe.
 */
public final class AsyncDiffRuntime {
    private final RuntimeConfig config;
    private final jakarta.inject.Provider<BackendProvider> selectedBackend;
    private final ProviderRegistry<BackendProvider> backends;
    private final ProviderRegistry<ModelAdapterProvider> adapters;
    private final ProviderRegistry<StrategyProvider> strategies;
    private final ProviderRegistry<SamplerProvider> samplers;
    private final ProviderRegistry<CommunicatorProvider> communicators;

    /** Created by Guice through {@link AsyncDiffModule}. */
    @Inject
    AsyncDiffRuntime(RuntimeConfig config,
                     jakarta.inject.Provider<BackendProvider> selectedBackend,
                     ProviderRegistry<BackendProvider> backends,
                     ProviderRegistry<ModelAdapterProvider> adapters,
                     ProviderRegistry<StrategyProvider> strategies,
                     ProviderRegistry<SamplerProvider> samplers,
                     ProviderRegistry<CommunicatorProvider> communicators) {
        this.config = config;
        this.selectedBackend = selectedBackend;
        this.backends = backends;
        this.adapters = adapters;
        this.strategies = strategies;
        this.samplers = samplers;
        this.communicators = communicators;
    }

    /**
     * A runtime for {@code config} with the providers found on the class path.
     *
     * @throws IllegalStateException naming the provider when one cannot be instantiated
     */
    public static AsyncDiffRuntime create(RuntimeConfig config) {
        return create(config, ProviderCatalog.load());
    }

    /**
     * A runtime for {@code config} with the providers {@code loader} sees, e.g. one that adds plugin
     * jars ({@link PluginPath#classLoader}).
     *
     * @throws IllegalStateException naming the provider when one cannot be instantiated
     */
    public static AsyncDiffRuntime create(RuntimeConfig config, ClassLoader loader) {
        return create(config, ProviderCatalog.load(loader));
    }

    /** A runtime for {@code config} with the providers of {@code catalog}. */
    public static AsyncDiffRuntime create(RuntimeConfig config, ProviderCatalog catalog) {
        Injector injector = Guice.createInjector(new AsyncDiffModule(config, catalog));
        return injector.getInstance(AsyncDiffRuntime.class);
    }

    /** The configuration this runtime was built from. */
    public RuntimeConfig config() {
        return config;
    }

    /**
     * The provider of the configured backend.
     *
     * @throws IllegalArgumentException listing the known backends when the configured name is unknown
     */
    public BackendProvider backendProvider() {
        try {
            return selectedBackend.get();
        } catch (ProvisionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }

    /**
     * Opens the configured backend on the configured devices with its options, and the backends the
     * configuration places on parts of the pipeline, as one backend that loads each model file on its
     * part's; the caller must close it.
     *
     * @throws IllegalArgumentException listing the known backends when the configured name is unknown
     */
    public Backend openBackend() {
        Backend selected = backendProvider().open(config.toBackendOptions());
        if (config.placement().isEmpty()) {
            return selected;
        }
        Map<String, Backend> placed = new LinkedHashMap<>();
        try {
            for (String name : config.placement().byPart().values()) {
                if (!placed.containsKey(name)) {
                    placed.put(name, name.equals(config.backend()) ? selected
                            : backends.get(name).open(config.toBackendOptions(name)));
                }
            }
        } catch (RuntimeException e) {
            placed.values().stream().filter(b -> b != selected).forEach(Backend::close);
            selected.close();
            throw e;
        }
        return new PlacedBackend(selected, placed, config.placement());
    }

    /** The backend providers by name. */
    public ProviderRegistry<BackendProvider> backends() {
        return backends;
    }

    /** The model adapter providers by name. */
    public ProviderRegistry<ModelAdapterProvider> adapters() {
        return adapters;
    }

    /** The strategy providers by name. */
    public ProviderRegistry<StrategyProvider> strategies() {
        return strategies;
    }

    /** The sampler providers by name. */
    public ProviderRegistry<SamplerProvider> samplers() {
        return samplers;
    }

    /** The communicator providers by name. */
    public ProviderRegistry<CommunicatorProvider> communicators() {
        return communicators;
    }
}
