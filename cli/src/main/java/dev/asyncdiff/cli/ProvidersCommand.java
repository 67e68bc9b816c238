package dev.asyncdiff.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.asyncdiff.spi.ProviderCatalog;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code asyncdiff providers}: every backend, adapter, strategy and sampler provider on the class
 * path, one per line as {@code kind name version}, sorted by kind then name; {@code --json} for machines.
 */
@Command(name = "providers",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Lists the backend, adapter, strategy and sampler providers found.",
            "One per line as: kind name version, sorted by kind, then name."
        })
final class ProvidersCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json",
            description = "Print JSON: an object whose \"providers\" array holds {kind, name, version} "
                    + "objects.")
    boolean json;

    @Option(names = "--plugins", paramLabel = "DIR",
            description = "A folder of plugin jars to list too; repeatable; added to the folders in ASYNCDIFF_PLUGINS.")
    List<Path> pluginFolders = new ArrayList<>();

    @Override
    public Integer call() throws JsonProcessingException {
        List<ProviderCatalog.Entry> entries = ProviderCatalog.load(RuntimeOptions.providerLoader(pluginFolders,
                System.getenv())).entries();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(toJson(entries));
        } else {
            printTable(entries, out);
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static String toJson(List<ProviderCatalog.Entry> entries) throws JsonProcessingException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode providers = root.putArray("providers");
        for (ProviderCatalog.Entry entry : entries) {
            providers.addObject()
                    .put("kind", entry.kind())
                    .put("name", entry.provider().name())
                    .put("version", entry.provider().version());
        }
        return mapper.writeValueAsString(root);
    }

    private void printTable(List<ProviderCatalog.Entry> entries, PrintWriter out) {
        if (entries.isEmpty()) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("asyncdiff: no providers found on the class path");
            err.flush();
            return;
        }
        int kindWidth = entries.stream().mapToInt(entry -> entry.kind().length()).max().orElse(0);
        int nameWidth = entries.stream().mapToInt(entry -> entry.provider().name().length()).max().orElse(0);
        String format = "%-" + kindWidth + "s %-" + nameWidth + "s %s%n";
        for (ProviderCatalog.Entry entry : entries) {
            out.printf(format, entry.kind(), entry.provider().name(), entry.provider().version());
        }
    }
}
