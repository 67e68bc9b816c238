package dev.asyncdiff.spi;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import com.google.inject.multibindings.MapBinder;
import java.util.Map;

/**
 * Guice wiring of a runtime: binds the {@link RuntimeConfig}, one {@link MapBinder} per provider
 * kind (name to provider) filled from a {@link ProviderCatalog}, a {@link ProviderRegistry} per kind
 * built from those maps, the {@link BackendProvider} the configuration selects, and
 * {@link AsyncDiffRuntime}.
 *
 * <p>Discovery happens before the module exists ({@link #fromClassPath}); {@link #configure()} does
 * no I/O and loads no native code. Nothing native is bound: the runtime opens a backend per call and
 * the caller closes it. Tests replace parts with {@code Modules.override(module).with(...)}, e.g. the
 * selected {@link BackendProvider} or the {@link RuntimeConfig}.
 */
public final class AsyncDiffModule extends AbstractModule {
    private final RuntimeConfig config;
    private final ProviderCatalog catalog;

    /** A module over {@code config} whose providers come from {@code catalog}. */
    public AsyncDiffModule(RuntimeConfig config, ProviderCatalog catalog) {
        if (config == null || catalog == null) {
            throw new IllegalArgumentException("AsyncDiffModule needs a config and a provider catalog, was "
                    + config + " and " + catalog);
        }
        this.config = config;
        this.catalog = catalog;
    }

    /**
     * A module over {@code config} with the providers found on the class path.
     *
     * @throws IllegalStateException naming the provider when one cannot be instantiated
     */
    public static AsyncDiffModule fromClassPath(RuntimeConfig config) {
        return new AsyncDiffModule(config, ProviderCatalog.load());
    }

    @Override
    protected void configure() {
        bind(RuntimeConfig.class).toInstance(config);
        bindAll(BackendProvider.class, catalog.backends());
        bindAll(ModelAdapterProvider.class, catalog.adapters());
        bindAll(StrategyProvider.class, catalog.strategies());
        bindAll(SamplerProvider.class, catalog.samplers());
        bindAll(CommunicatorProvider.class, catalog.communicators());
        bind(AsyncDiffRuntime.class);
    }

    private <P extends Provider> void bindAll(Class<P> type, ProviderRegistry<P> registry) {
        MapBinder<String, P> binder = MapBinder.newMapBinder(binder(), String.class, type);
        for (P provider : registry.all()) {
            binder.addBinding(provider.name()).toInstance(provider);
        }
    }

    @Provides
    @Singleton
    ProviderRegistry<BackendProvider> backends(Map<String, BackendProvider> providers) {
        return ProviderRegistry.of(catalog.backends().kind(), providers.values());
    }

    @Provides
    @Singleton
    ProviderRegistry<ModelAdapterProvider> adapters(Map<String, ModelAdapterProvider> providers) {
        return ProviderRegistry.of(catalog.adapters().kind(), providers.values());
    }

    @Provides
    @Singleton
    ProviderRegistry<StrategyProvider> strategies(Map<String, StrategyProvider> providers) {
        return ProviderRegistry.of(catalog.strategies().kind(), providers.values());
    }

    @Provides
    @Singleton
    ProviderRegistry<SamplerProvider> samplers(Map<String, SamplerProvider> providers) {
        return ProviderRegistry.of(catalog.samplers().kind(), providers.values());
    }

    @Provides
    @Singleton
    ProviderRegistry<CommunicatorProvider> communicators(Map<String, CommunicatorProvider> providers) {
        return ProviderRegistry.of(catalog.communicators().kind(), providers.values());
    }

    /** The backend provider named by the configuration; an unknown name fails with the known ones. */
    @Provides
    BackendProvider selectedBackend(RuntimeConfig runtimeConfig, ProviderRegistry<BackendProvider> backends) {
        return backends.get(runtimeConfig.backend());
    }

    /** What the selected backend is opened with. */
    @Provides
    BackendOptions backendOptions(RuntimeConfig runtimeConfig) {
        return runtimeConfig.toBackendOptions();
    }
}
