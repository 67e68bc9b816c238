package dev.asyncdiff.onnx.graph.split;

import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Started several times at once by {@link SharedCacheProcessTest}: waits for the go file, splits
 * {@code args[0]} into the cache {@code args[1]}, runs the components in order against the whole model and
 * prints {@code cut} or {@code reused}, then {@code ok max-diff}. Exits 1 on any failure, printing it.
 */
public final class SharedCacheSplitMain {
    private SharedCacheSplitMain() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        Path cache = Path.of(args[1]);
        Path go = Path.of(args[2]);
        try {
            for (int waited = 0; !Files.exists(go); waited += 10) {
                if (waited > 60_000) {
                    throw new IllegalStateException("no go file " + go + " after 60 s");
                }
                Thread.sleep(10);
            }
            SplitResult split = new GraphSplitter(cache).split(model, 3, 8, 6, null, ExternalDataPolicy.AUTO);
            System.out.println(split.reused() ? "reused" : "cut");
            var in = GraphSplitterTest.inputs(1, 7);
            float[] whole = ComponentChain.run(model, in).get("out_sample");
            float[] chained = ComponentChain.chain(split, in).get("out_sample");
            double max = 0;
            for (int i = 0; i < whole.length; i++) {
                max = Math.max(max, Math.abs(whole[i] - chained[i]));
            }
            System.out.println("ok " + max);
        } catch (Exception | Error e) {
            e.printStackTrace(System.out);
            System.exit(1);
        }
    }
}
