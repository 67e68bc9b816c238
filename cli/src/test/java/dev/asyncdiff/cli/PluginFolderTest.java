package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plugin jar compiled here, outside the class path, is found in a {@code --plugins} folder (or
 * {@code ASYNCDIFF_PLUGINS}) and used by {@code generate} and listed by {@code providers}.
 */
class PluginFolderTest {
    private static final String SAMPLER_SOURCE = """
            package example.plugin;

            import dev.asyncdiff.api.NoiseScheduler;
            import dev.asyncdiff.samplers.Samplers;
            import dev.asyncdiff.spi.SamplerProvider;

            /** DDIM under another name: a sampler plugin that reuses the built-in formula. */
            public final class RenamedDdim implements SamplerProvider {
                @Override
                public String name() {
                    return "plugin_ddim";
                }

                @Override
                public NoiseScheduler create(String json) {
                    return Samplers.provider("ddim").create(json);
                }
            }
            """;

    @TempDir
    static Path shared;
    private static Path plugins;
    private static Path model;
    private static String previousCache;

    @TempDir
    Path dir;

    @BeforeAll
    static void buildThePluginJar() throws IOException {
        previousCache = System.getProperty(CachedModels.CACHE_PROPERTY);
        System.setProperty(CachedModels.CACHE_PROPERTY, shared.resolve("cache").toString());
        Path sources = Files.createDirectories(shared.resolve("src/example/plugin"));
        Path source = Files.writeString(sources.resolve("RenamedDdim.java"), SAMPLER_SOURCE);
        Path classes = Files.createDirectories(shared.resolve("classes"));
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        int status = compiler.run(null, null, null, "-classpath", System.getProperty("java.class.path"), "-d",
                classes.toString(), source.toString());
        assertThat(status).as("compiling the plugin").isZero();
        plugins = Files.createDirectories(shared.resolve("plugins"));
        try (OutputStream file = Files.newOutputStream(plugins.resolve("renamed-ddim.jar"));
             JarOutputStream jar = new JarOutputStream(file)) {
            jar.putNextEntry(new JarEntry("example/plugin/RenamedDdim.class"));
            jar.write(Files.readAllBytes(classes.resolve("example/plugin/RenamedDdim.class")));
            jar.putNextEntry(new JarEntry("META-INF/services/dev.asyncdiff.spi.SamplerProvider"));
            jar.write("example.plugin.RenamedDdim\n".getBytes(StandardCharsets.UTF_8));
        }
        model = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                shared.resolve("sd15")).directory();
    }

    @AfterAll
    static void restoreCache() {
        if (previousCache == null) {
            System.clearProperty(CachedModels.CACHE_PROPERTY);
        } else {
            System.setProperty(CachedModels.CACHE_PROPERTY, previousCache);
        }
    }

    @Test
    void theClassPathAloneDoesNotHaveThePlugin() throws ClassNotFoundException {
        assertThat(CliRun.of("providers").out()).doesNotContain("plugin_ddim");
        CliRun run = CliRun.of("generate", "--model", model.toString(), "--prompt", "x", "--scheduler", "plugin_ddim",
                "--out", dir.resolve("none.png").toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("unknown sampler 'plugin_ddim'");
    }

    @Test
    void providersListsAndGenerateUsesASamplerFromAPluginFolder() {
        assertThat(CliRun.of("providers", "--plugins", plugins.toString()).out()).contains("sampler")
                .contains("plugin_ddim");
        Path plugin = dir.resolve("plugin.png");
        Path builtIn = dir.resolve("builtin.png");
        List<String> common = List.of("generate", "--model", model.toString(), "--prompt", "a red house", "--steps",
                "3", "--seed", "5", "--width", "64", "--height", "64");
        CliRun withPlugin = CliRun.of(concat(common, "--plugins", plugins.toString(), "--scheduler", "plugin_ddim",
                "--out", plugin.toString()));
        CliRun withBuiltIn = CliRun.of(concat(common, "--scheduler", "ddim", "--out", builtIn.toString()));

        assertThat(withPlugin.exitCode()).as(withPlugin.err()).isZero();
        assertThat(withBuiltIn.exitCode()).as(withBuiltIn.err()).isZero();
        assertThat(Images.readPngText(plugin, "parameters")).contains("Sampler: plugin_ddim");
        assertThat(pixels(plugin)).containsExactly(pixels(builtIn));
    }

    @Test
    void aMissingPluginFolderIsAUsageErrorNamingIt() {
        Path missing = dir.resolve("no-such-plugins");
        CliRun run = CliRun.of("providers", "--plugins", missing.toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("plugin folder " + missing.toAbsolutePath() + " does not exist")
                .contains("flag --plugins");
    }

    private static String[] concat(List<String> head, String... tail) {
        String[] all = head.toArray(new String[head.size() + tail.length]);
        System.arraycopy(tail, 0, all, head.size(), tail.length);
        return all;
    }

    private static int[] pixels(Path png) {
        var image = Images.read(png);
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }
}
