/**
 * What plugin authors implement and how plugins are found: the {@code *Provider} interfaces
 * (backends, model adapters, strategies, samplers, and communicators — the {@link
 * dev.asyncdiff.spi.Communicator} through which ranks exchange tensors),
 * discovered with {@link java.util.ServiceLoader} through {@link dev.asyncdiff.spi.ProviderRegistry},
 * and the Guice wiring of a runtime ({@link dev.asyncdiff.spi.AsyncDiffModule},
 * {@link dev.asyncdiff.spi.AsyncDiffRuntime}) from a {@link dev.asyncdiff.spi.RuntimeConfig} that
 * {@link dev.asyncdiff.spi.ConfigLoader} reads from a config file, the environment and flags.
 *
 * <p>Providers are cheap to create and load no native code at discovery; native resources appear
 * only when a factory method such as {@link dev.asyncdiff.spi.BackendProvider#open} is called, and
 * the caller closes what it returns.
 */
package dev.asyncdiff.spi;
