say "tunnel-anp client certificate in place"
