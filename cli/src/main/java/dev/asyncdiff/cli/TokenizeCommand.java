package dev.asyncdiff.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.adapters.sd.tokenizer.Encoding;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code asyncdiff tokenize}: the CLIP token ids of a text, with BOS and EOS and without padding,
 * as {@code {"ids":[…],"truncated":false}}.
 */
@Command(name = "tokenize",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Prints the CLIP token ids of TEXT (with BOS and EOS, no padding) as JSON.",
            "Output: {\"ids\":[49406,…,49407],\"truncated\":false}. Texts longer than 77 tokens are truncated."
        })
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
            description = "A tokenizer folder (vocab.json, merges.txt, …) or a model folder with tokenizer/.")
    Path tokenizer;

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "The text; several arguments are joined by spaces.")
    List<String> text;

    @Override
    public Integer call() throws JsonProcessingException {
        Encoding encoding = ClipTokenizer.load(tokenizer).encode(String.join(" ", text));
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode ids = root.putArray("ids");
        for (int id : encoding.ids()) {
            ids.add(id);
        }
        root.put("truncated", encoding.truncated());
        PrintWriter out = spec.commandLine().getOut();
        out.println(mapper.writeValueAsString(root));
        out.flush();
        return ExitCodes.OK;
    }
}
